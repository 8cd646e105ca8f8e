"""Training: the trainers the registry points at, fitting with resume, optimizers and schedules, batches,
data-parallel placement, dvclive logging and Sharpness-Aware Minimization."""
