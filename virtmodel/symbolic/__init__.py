"""virtmodel.symbolic"""
