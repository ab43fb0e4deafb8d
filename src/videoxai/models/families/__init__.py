"""videoxai.models.families"""
