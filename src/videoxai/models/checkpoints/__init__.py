"""videoxai.models.checkpoints"""
