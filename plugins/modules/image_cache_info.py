#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: image_cache_info
short_description: Check the guest images cached on a QEMU host against their checksums in one run
version_added: "0.1.0"
description:
  - Tells, for each guest image of a QEMU host's cache, whether its file is there and, when it is, whether its
    digest is the one its checksum names - a hex digest, or the line for the image's file name in a SUMS file at a
    URL (the formats C(ansible.builtin.get_url) reads - C(<digest>  <file>), C(<digest> *<file>), BSD
    C(SHA256 (<file>) = <digest>), or a file holding the digest alone).
  - The role C(q8s.cluster.qemu_host) fetches or pushes only the images that are missing, and stops when a cached
    image no longer matches - guests use the file as the backing file of their disks, so it is never replaced in
    place.
  - Reads each file once, fetches a SUMS file only for an image that is cached, changes nothing, and supports check
    mode.
  - Fails when a SUMS file cannot be fetched or names no digest for the image.
options:
  dir:
    description: The directory of the cache.
    type: path
    required: true
  images:
    description:
      - The images, each as the role's C(qemu_host_images) item - C(name), the file name in I(dir);
        C(checksum), C(<algorithm>:<hex digest>) or C(<algorithm>:<URL of a SUMS file>); C(url), where the
        image comes from, whose last path element is the name looked for in a SUMS file. Other keys are ignored.
    type: list
    elements: dict
    required: true
  timeout:
    description: Seconds to wait for a SUMS file.
    type: int
    default: 10
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Check the cached guest images
  q8s.cluster.image_cache_info:
    dir: /var/lib/q8s/images
    images:
      - name: noble-amd64-4f0d1c2b3a49.img
        url: https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img
        checksum: sha256:https://cloud-images.ubuntu.com/noble/current/SHA256SUMS
  register: cache
"""

RETURN = r"""
images:
  description: One entry per item of I(images), in their order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The file name in I(dir).
      type: str
    exists:
      description: Whether the file is there.
      type: bool
    expected:
      description: The digest the checksum names; null for a missing image whose checksum is a SUMS URL (not fetched).
      type: str
    found:
      description: The file's digest, with the checksum's algorithm; null for a missing file.
      type: str
    matches:
      description: Whether I(found) is I(expected); null for a missing file.
      type: bool
missing:
  description: The names of the images whose file is not there.
  returned: always
  type: list
  elements: str
mismatched:
  description: The names of the cached images whose digest is not the one their checksum names.
  returned: always
  type: list
  elements: str
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.parse import urlsplit, urlunsplit
from ansible.module_utils.urls import fetch_url

URL_SCHEMES = ("http", "https", "ftp", "file")
BSD_LINE = re.compile(r"^\w+ ?\((?P<path>.+)\) ?= (?P<digest>[\w.]+)$")
GNU_LINE = re.compile(r"^(?P<digest>[\w.]+)\s+(\*|\./|\.)?(?P<path>.+)$")


def is_url(text):
    return urlsplit(text).scheme in URL_SCHEMES


def without_credentials(url):
    """The URL without a user name or password, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))


def url_file_name(url):
    return os.path.basename(urlsplit(url).path) or "index.html"


def normal_digest(text):
    """A digest as get_url compares it: lower case, without anything that is not a word character."""
    return re.sub(r"\W+", "", text).lower()


def digest_in_sums(lines, file_name):
    """The digest a SUMS file gives for file_name, or None."""
    if len(lines) == 1 and len(lines[0].split()) == 1:
        return lines[0]
    for line in lines:
        match = BSD_LINE.match(line)
        path = match.group("path") if match else None
        if not match:
            match = GNU_LINE.match(line)
            path = match.group("path").lstrip("./") if match else None
        if path == file_name:
            return match.group("digest")
    return None


def expected_digest(module, image, sums):
    """The digest an image's checksum names; SUMS files are fetched once per URL (cached in sums)."""
    value = image["checksum"].split(":", 1)[1]
    if not is_url(value):
        return normal_digest(value)
    if value not in sums:
        response, info = fetch_url(module, value, timeout=module.params["timeout"])
        if response is None or info.get("status") not in (200, None):
            module.fail_json(
                msg="cannot fetch the checksum file %s for the cached image %s: %s" % (without_credentials(value), image["name"], info.get("msg", "no answer"))
            )
        sums[value] = response.read().decode("utf-8", "replace").splitlines()
    file_name = url_file_name(image.get("url") or image["name"])
    digest = digest_in_sums(sums[value], file_name)
    if digest is None:
        module.fail_json(msg="the checksum file %s names no digest for %s (the cached image %s)" % (without_credentials(value), file_name, image["name"]))
    return normal_digest(digest)


def check(module):
    sums = {}
    images, missing, mismatched = [], [], []
    for image in module.params["images"]:
        path = os.path.join(module.params["dir"], image["name"])
        entry = dict(name=image["name"], exists=os.path.isfile(path), expected=None, found=None, matches=None)
        if not entry["exists"]:
            missing.append(image["name"])
            value = image["checksum"].split(":", 1)[1]
            entry["expected"] = None if is_url(value) else normal_digest(value)
        else:
            entry["expected"] = expected_digest(module, image, sums)
            entry["found"] = module.digest_from_file(path, image["checksum"].split(":", 1)[0])
            entry["matches"] = entry["found"] == entry["expected"]
            if not entry["matches"]:
                mismatched.append(image["name"])
        images.append(entry)
    return dict(images=images, missing=missing, mismatched=mismatched)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            # No suboptions: an item may carry more keys than these (the role's items do).
            images=dict(type="list", elements="dict", required=True),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    for image in module.params["images"]:
        name, checksum = image.get("name"), image.get("checksum")
        if not isinstance(name, str) or not name or "/" in name or not isinstance(checksum, str) or ":" not in checksum:
            module.fail_json(msg="each image needs name (a file name) and checksum (<algorithm>:<digest or URL>), got %s" % json.dumps(image, default=str))
    module.exit_json(changed=False, **check(module))


if __name__ == "__main__":
    main()
