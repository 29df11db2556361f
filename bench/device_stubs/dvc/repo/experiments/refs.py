class ExpRefInfo:
    pass
