"""GET https://HOST:PORT/ N times (TLS unverified, as a client through the load balancer); print each answer or error."""

import ssl
import sys
import urllib.request

HOST, PORT, COUNT = sys.argv[1], sys.argv[2], int(sys.argv[3])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
failed = 0
for _attempt in range(COUNT):
    try:
        with urllib.request.urlopen("https://%s:%s/version" % (HOST, PORT), context=context, timeout=5) as answer:
            print(answer.read().decode().split()[0])
    except OSError as err:
        failed += 1
        print("ERROR %s" % err)
sys.exit(1 if failed else 0)
