"""What a survey delivery answered, read again: its recipients' links, and the customers' open
links their sender sent (`queries`)."""
