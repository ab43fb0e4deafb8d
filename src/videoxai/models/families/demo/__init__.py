"""videoxai.models.families.demo"""
