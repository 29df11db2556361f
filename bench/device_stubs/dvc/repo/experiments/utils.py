def check_ref_format(scm, ref):
    pass


def gen_random_name():
    return "device-check"


def get_random_exp_name(scm, baseline_rev):
    return gen_random_name()
