"""Headers on every answer that keep a browser to the dashboard's own files: no inline script or
style, nothing loaded or sent anywhere but this server, never framed, never sniffed as another
type. The dashboard shows what jobs print, name and label, all attacker-controlled text; should
any of it ever reach the page as markup, the browser refuses to run it."""

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def install_browser_policy(app: Flask) -> None:
    @app.after_request
    def add_policy_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
