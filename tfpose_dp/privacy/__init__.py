"""Differential privacy for Keras: the optimizers, Poisson batches, the budget.

    from tfpose_dp import privacy
    p = privacy.plan(num_examples=60000, batch_size=256, epochs=3, epsilon=1.0)
    model.compile(optimizer=privacy.PoseDPSGD(l2_norm_clip=1.0,
                      noise_multiplier=p.noise_multiplier, expected_batch_size=256,
                      learning_rate=0.5),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True, reduction=tf.keras.losses.Reduction.NONE))
    model.fit(privacy.poisson_batches((x, y), 256), epochs=3,
              callbacks=[privacy.PrivacyCallback(60000, 256, p.noise_multiplier)])

docs/api.md walks through it.
"""

from tfpose_dp.privacy.calculator import TrainingPlan, plan
from tfpose_dp.privacy.keras_callback import PrivacyCallback
from tfpose_dp.privacy.optimizer import PoseDPAdam, PoseDPSGD
from tfpose_dp.privacy.poisson_batches import poisson_batches

__all__ = ["PoseDPAdam", "PoseDPSGD", "PrivacyCallback", "TrainingPlan", "plan", "poisson_batches"]
