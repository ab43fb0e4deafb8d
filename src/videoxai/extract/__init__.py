"""videoxai.extract"""
