"""Identity and org: sign-in, tokens bound to devices, org tree, users, device revocation."""
