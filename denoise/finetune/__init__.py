"""Fine-tuning (``denoise finetune``, ``denoise evaluate``): the task recipe, the backbone a task starts from,
the task model, the loop, and the saved task model."""
