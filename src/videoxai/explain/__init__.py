"""videoxai.explain"""
