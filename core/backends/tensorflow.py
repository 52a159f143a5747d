"""Loss and gradient under TensorFlow: one traced graph, shapes relaxed across image sizes.

The graph reads the network's variables by reference, so ``variables`` needs no handling here."""

import numpy as np
import tensorflow as tf


def value_and_grad(loss_fn, variables):
    @tf.function(reduce_retracing=True, autograph=False)
    def evaluate(image, *args):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss, parts = loss_fn(image, *args)
        return loss, parts, tape.gradient(loss, image)

    def call(image: np.ndarray, *args):
        loss, parts, grad = evaluate(*tf.nest.map_structure(tf.convert_to_tensor, (image, *args)))
        return float(loss), {name: float(value) for name, value in parts.items()}, grad.numpy()

    return call


def forward(fn, variables):
    compiled = tf.function(fn, reduce_retracing=True, autograph=False)

    def call(*args):
        out = compiled(*tf.nest.map_structure(tf.convert_to_tensor, args))
        return tf.nest.map_structure(lambda t: t.numpy(), out)

    return call


def device_name() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU: {details.get('device_name', gpus[0].name)}"


def fast_bfloat16() -> bool:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0)) >= (8, 0)
    from core.backends import cpu_has_bfloat16

    return cpu_has_bfloat16()


def is_out_of_memory(error) -> bool:
    return isinstance(error, tf.errors.ResourceExhaustedError)
