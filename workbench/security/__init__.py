"""Cryptographic building blocks: password hashing and signed tokens."""
