def get_repo_url(repo):
    return None


def get_subrepo_relpath(repo):
    return ""
