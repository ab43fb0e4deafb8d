"""videoxai.render"""
