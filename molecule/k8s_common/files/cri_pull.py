#!/usr/bin/python3
"""Pull an image through containerd's CRI plugin, as kubelet does, for tests only.

crictl is not packaged by Debian, so this calls the CRI ImageService's PullImage
(runtime.v1) on containerd's socket with python3-grpcio, the request encoded by
hand (PullImageRequest{image: ImageSpec{image: NAME}}). The CRI plugin, unlike
`ctr`, reads the registry settings of config.toml (config_path, hosts.toml).
Prints the image reference containerd returns; on failure containerd's error,
exit 1.

    cri_pull.py IMAGE [SOCKET]
"""

import sys

import grpc


def varint(number):
    out = b""
    while True:
        low, number = number & 0x7F, number >> 7
        if number:
            out += bytes([low | 0x80])
        else:
            return out + bytes([low])


def field(number, payload):
    """A length-delimited protobuf field."""
    return bytes([number << 3 | 2]) + varint(len(payload)) + payload


def main(args):
    socket = args[1] if len(args) > 1 else "/run/containerd/containerd.sock"
    channel = grpc.insecure_channel("unix://" + socket)
    pull = channel.unary_unary("/runtime.v1.ImageService/PullImage")
    try:
        reply = pull(field(1, field(1, args[0].encode())), timeout=120)
    except grpc.RpcError as e:
        sys.stderr.write("PullImage %s: %s\n" % (args[0], e.details()))
        return 1
    # PullImageResponse{image_ref = 1}: one length-delimited field
    size, shift, pos = 0, 0, 1
    while reply[pos] & 0x80:
        size |= (reply[pos] & 0x7F) << shift
        shift, pos = shift + 7, pos + 1
    size |= reply[pos] << shift
    print(reply[pos + 1 : pos + 1 + size].decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
