"""Schemathesis checks of our own, loaded with SCHEMATHESIS_HOOKS by .ci/fuzz.

Every error answer carries a stable code: a REST problem its `code`, each
GraphQL error its `extensions.code`.
"""

import schemathesis


@schemathesis.check
def error_carries_a_code(ctx, response, case):
    if response.request.url.split("?")[0].endswith("/graphql"):
        try:
            body = response.json()
        except ValueError:
            raise AssertionError(f"GraphQL answered {response.status_code} without JSON")
        for error in (body or {}).get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if not isinstance(code, str) or not code:
                raise AssertionError(f"a GraphQL error without extensions.code: {error}")
        return None
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            raise AssertionError(f"{response.status_code} answered without a JSON problem")
        code = problem.get("code") if isinstance(problem, dict) else None
        if not isinstance(code, str) or not code:
            raise AssertionError(f"{response.status_code} problem without a code: {problem}")
    return None


@schemathesis.check
def no_server_error(ctx, response, case):
    """No 5xx, and no GraphQL error coded INTERNAL or UNAVAILABLE.

    Used for GraphQL instead of schemathesis' own `not_a_server_error`,
    which counts every resolver error whose code it does not know (NOT_FOUND,
    FORBIDDEN, CONFLICT: answers to well-formed but refused input) as a
    server error.
    """
    if response.status_code >= 500:
        raise AssertionError(f"server error {response.status_code}: {response.text[:500]}")
    if response.request.url.split("?")[0].endswith("/graphql"):
        try:
            body = response.json()
        except ValueError:
            return None
        for error in (body or {}).get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if code in ("INTERNAL", "UNAVAILABLE"):
                raise AssertionError(f"a GraphQL error coded {code}: {error}")
    return None
