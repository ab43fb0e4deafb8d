"""videoxai.data"""
