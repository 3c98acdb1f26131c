"""Tracked shares: an RM shares a live brochure as a short link or a poster with a QR code.

- `codes`: the unguessable short code of a share's link;
- `service`: making a share (online and through sync), the RM's share list;
- `poster`: drawing the phone poster (pure, CPU-bound); `posters`: rendering it once per share
  into the blob store;
- `queries`: the SQL; `routes`: the endpoints.
"""
