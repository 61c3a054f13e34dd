"""Stand-ins for what lies outside the machine: the delivery vendor (the `vendor` process)."""
