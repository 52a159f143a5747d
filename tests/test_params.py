import pytest

from core.params import TUTORIAL_WEIGHTS, ParamError, StyleParams


def test_defaults_are_valid_and_round_trip_through_plain_data():
    params = StyleParams()
    assert StyleParams.from_dict(params.to_dict()) == params


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"size": 10}, "size must be between"),
        ({"iterations": 0}, "iterations must be between"),
        ({"iterations": 2.5}, "iterations must be a whole number"),
        ({"style_weight": -1.0}, "style_weight must be between"),
        ({"content_weight": "lots"}, "content_weight must be a number"),
        ({"init": "random"}, "init must be one of"),
        ({"style_layers": ("block9_conv1",)}, "not a VGG19 convolution layer"),
        ({"style_layers": ()}, "at least one VGG19 layer"),
        ({"style_layer_weights": (1.0, 2.0)}, "2 values, but there are 5 style layers"),
        ({"style_blend": (0.0, 0.0)}, "at least one value above 0"),
        ({"preserve_colors": "yes"}, "preserve_colors must be true or false"),
    ],
)
def test_bad_values_give_one_line_naming_the_setting(changes, message):
    with pytest.raises(ParamError, match=message) as error:
        StyleParams(**changes)
    assert "\n" not in str(error.value)


def test_unknown_setting_is_refused():
    with pytest.raises(ParamError, match="unknown setting 'styel_weight'"):
        StyleParams.from_dict({"styel_weight": 1.0})


def test_weights_are_normalised():
    params = StyleParams(style_layers=("block1_conv1", "block2_conv1"), style_layer_weights=(1, 3))
    assert params.layer_weights() == (0.25, 0.75)
    assert StyleParams(style_blend=(2, 2)).blend_weights(2) == (0.5, 0.5)
    assert StyleParams().blend_weights(4) == (0.25,) * 4
    with pytest.raises(ParamError, match="2 weights for 3 style images"):
        StyleParams(style_blend=(1, 1)).blend_weights(3)


def test_tutorial_preset_uses_the_tutorial_weights_on_one_scale():
    params = StyleParams.tutorial(size=64)
    assert params.tutorial_loss and params.pyramid_levels == 1
    assert params.content_weight == TUTORIAL_WEIGHTS["content_weight"]


def test_memory_budget_is_gigabytes_or_three_quarters_of_the_machine():
    import psutil

    from core.plan import memory_budget_bytes

    assert memory_budget_bytes(StyleParams(memory_budget=2)) == 2e9
    assert memory_budget_bytes(StyleParams()) == 0.75 * psutil.virtual_memory().total


def test_smaller_scales_get_a_quarter_of_the_iterations_unless_told():
    assert [StyleParams(iterations=200).level_iterations(level, 3) for level in range(3)] == [50, 50, 200]
    assert StyleParams(iterations=2).level_iterations(0, 2) == 1  # never zero
    assert StyleParams(iterations=200, coarse_iterations=7).level_iterations(0, 2) == 7
