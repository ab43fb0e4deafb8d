"""videoxai.models"""
