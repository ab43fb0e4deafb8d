"""videoxai.calibration"""
