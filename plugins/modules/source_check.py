#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: source_check
short_description: Check that the remote sources a run needs answer from where this runs
version_added: "0.1.0"
description:
  - Sends one HTTP request to each source (package repository key, image registry C(/v2/), guest image) and
    counts any HTTP answer, even an error status such as a registry's 401, as reachable; a name that does
    not resolve, a refused or timed-out connection or a TLS failure is not.
  - Fails with one message that lists every unreachable source with its error and its fix, and changes nothing.
  - Run it on the controller before anything is created, and on each node before the long stages (the
    filter C(q8s.cluster.required_sources) says which sources a run needs and where).
options:
  sources:
    description: The sources, as dicts with C(name), C(url) and C(fix) (what to change when it is unreachable).
    type: list
    elements: dict
    required: true
  timeout:
    description: Seconds to wait for each source.
    type: int
    default: 10
  where:
    description: Where this check runs, named in the message (C(controller), or the node's name).
    type: str
    default: this host
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Check the sources before anything is created
  q8s.cluster.source_check:
    sources: "{{ settings | q8s.cluster.required_sources | selectattr('where', 'equalto', 'controller') }}"
    where: controller
"""

RETURN = r"""
checked:
  description: Every source with C(reachable) (bool), C(status) (the HTTP status, or -1) and C(error).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.urls import open_url


def probe(url, timeout):
    """(status, error): the HTTP status of a HEAD request, or -1 and why there was none."""
    try:
        answer = open_url(url, method="HEAD", timeout=timeout, follow_redirects="all", http_agent="q8s-source-check")
        return answer.getcode(), ""
    except HTTPError as err:
        return err.code, ""
    except Exception as err:  # pylint: disable=broad-except
        reason = getattr(err, "reason", None)
        return -1, str(reason if reason is not None else err)


def check(sources, timeout, prober=probe):
    """Every source with its result, and the failure message (empty when all answered)."""
    checked = []
    for source in sources:
        status, error = prober(source["url"], timeout)
        checked.append(dict(source, reachable=status > 0, status=status, error=error))
    bad = [c for c in checked if not c["reachable"]]
    return checked, bad


def message(bad, where):
    lines = ["%d source(s) this run needs cannot be reached from %s:" % (len(bad), where)]
    for source in bad:
        lines.append("- %s: %s (%s). Fix: %s." % (source.get("name", source["url"]), source["url"], source["error"], source.get("fix", "make it reachable")))
    return "\n".join(lines)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sources=dict(type="list", elements="dict", required=True),
            timeout=dict(type="int", default=10),
            where=dict(type="str", default="this host"),
        ),
        supports_check_mode=True,
    )
    for source in module.params["sources"]:
        if not str(source.get("url", "")).startswith(("http://", "https://")):
            module.fail_json(msg="source %r needs an http:// or https:// url" % (source,))
    checked, bad = check(module.params["sources"], module.params["timeout"])
    if bad:
        module.fail_json(msg=message(bad, module.params["where"]), checked=checked)
    module.exit_json(changed=False, checked=checked)


if __name__ == "__main__":
    main()
