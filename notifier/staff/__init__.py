"""Staff accounts and sign-in (passwords, OpenID Connect), the guard and layout of every /staff page, and the texts
from residents waiting for staff. The rooms of case officers (sources/cases) and comms (sources/bulletins) build
on it.
"""
