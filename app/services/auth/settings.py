"""Numbers of the password-login throttle (app.services.auth.throttle); the per-(username, address)
threshold and the window are the platform's YOUTH_LOGIN_MAX_FAILURES and
YOUTH_LOGIN_FAILURE_WINDOW_SECONDS."""

from app.config import ServiceSettings


class AuthSettings(ServiceSettings):
    # One address guessing one username: after YOUTH_LOGIN_MAX_FAILURES failures it waits this long,
    # doubling with each further failure, up to the window.
    auth_login_pair_delay_seconds: int = 60
    # Many addresses guessing one username: this many failures pass freely, then each attempt from an
    # address that has not logged in to the account lately waits 1 s, 2 s, 4 s ... up to the cap.
    # Never a lock: the account's own addresses skip this delay, and it never exceeds the cap.
    auth_login_user_free_failures: int = 10
    auth_login_user_delay_cap_seconds: int = 60
    auth_known_address_days: int = 30
