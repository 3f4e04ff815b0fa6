"""Fine-tuning: task recipes, the loop, evaluation and the saved task model (``denoise finetune``)."""
