"""virtmodel.analytic"""
