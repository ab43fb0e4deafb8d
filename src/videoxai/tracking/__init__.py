"""videoxai.tracking: optional experiment tracking (wandb), reading only files the workflow already wrote."""
