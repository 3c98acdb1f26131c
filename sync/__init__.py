"""Offline sync: change log, pull, push of offline mutations, conflict policy, offline packages.

Built by the offline-sync issue. The foundation already records what sync needs from identity:
a revoked device (devices.revoked_at) makes its next pull answer `wipe: true`.
"""
