"""videoxai.tracking"""
