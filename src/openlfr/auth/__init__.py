"""Who is acting: users with passwords, browser sessions, machine tokens, roles, and the local CLI.

Every audit entry's actor comes from a ``Principal`` established here (a logged-in user, a token, or
``local:<os user>`` for a CLI command run on the server), never from a name a caller supplies.
"""
