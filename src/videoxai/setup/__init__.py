"""Setting a model up on a dataset split: the one setup extraction and explanation share.

It sits between ``models`` and the stages that run a model (``extract``,
``explain``): both import it, so the two can never set the model up
differently (device, resolved model, split, class plan, prompts, input
spec, decoder). See :mod:`videoxai.setup.model_split`.
"""
