# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options every q8s OpenStack module takes: the ones of
    # openstack.cloud's openstack_full_argument_spec, which the modules use.
    # Documented here rather than by extending openstack.cloud.openstack, so
    # that the collection's documentation builds where openstack.cloud is not
    # installed (Galaxy's importer, antsibull-docs on the tarball alone).
    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - The cloud to use, as a name of an entry of C(clouds.yaml) or as a complete cloud
        configuration (a mapping like such an entry).
      - Not needed when O(auth) is given or the C(OS_*) environment variables are set.
    type: raw
  auth:
    description:
      - Authentication data for the cloud's auth plugin, for example C(auth_url), C(username),
        C(password), C(project_name) and the domain names for password authentication.
      - Not needed when O(cloud) is given or the C(OS_*) environment variables are set.
    type: dict
  auth_type:
    description:
      - Name of the keystoneauth plugin when the cloud does not use password authentication.
    type: str
  region_name:
    description:
      - Region of the cloud to use.
    type: str
  wait:
    description:
      - Whether to wait for the cloud to finish the operation.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the cloud when O(wait=true).
    type: int
    default: 180
  api_timeout:
    description:
      - Seconds openstacksdk waits for one API request.
    type: int
  validate_certs:
    description:
      - Whether to verify the TLS certificates of the cloud's endpoints.
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - CA bundle to verify the endpoints' certificates with.
    type: str
    aliases: [cacert]
  client_cert:
    description:
      - Client certificate for TLS client authentication.
    type: str
    aliases: [cert]
  client_key:
    description:
      - Key of O(client_cert), when it is not in the same file.
    type: str
    aliases: [key]
  interface:
    description:
      - Which endpoints of the service catalog to use.
    type: str
    choices: [admin, internal, public]
    default: public
    aliases: [endpoint_type]
  sdk_log_path:
    description:
      - File openstacksdk writes its log to.
    type: str
  sdk_log_level:
    description:
      - Level of openstacksdk's log.
    type: str
    default: INFO
    choices: [INFO, DEBUG]
requirements:
  - openstacksdk (requirements.txt of the collection gives the supported range)
notes:
  - The credentials come from openstacksdk's usual places, C(clouds.yaml) and the C(OS_*)
    environment variables, unless O(auth) gives them.
"""
