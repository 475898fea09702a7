"""Running one training job: callbacks, W&B runs, and the job itself (fit, select, test, report)."""
