"""Raw signed requests (botocore's SigV4 signer, sent with urllib) for wire-level checks."""

import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def send(method, url, body=b"", headers=None, sign_with=None, region="us-east-1", service="ses"):
    """Sends one request; `sign_with=(access_key_id, secret[, token])` signs it with SigV4."""
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if sign_with:
        SigV4Auth(Credentials(*sign_with), service, region).add_auth(req)
    p = req.prepare()
    data = p.body
    if isinstance(data, str):
        data = data.encode()
    r = urllib.request.Request(p.url, data=data if method != "GET" else None, method=method)
    for k, v in p.headers.items():
        r.add_header(k, v)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return RawResponse(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, e.headers, e.read())


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
