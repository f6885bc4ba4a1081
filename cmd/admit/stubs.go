package main

// Commands whose dialects are still being built: none left.
