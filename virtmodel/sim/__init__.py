"""virtmodel.sim"""
