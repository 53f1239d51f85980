"""Reports: the weekly usage feedback, daily meter readings and the cold-chain log (SPEC §7)."""
