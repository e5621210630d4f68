"""virtmodel.experiments"""
