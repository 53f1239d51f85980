"""Reading sources of a gateway (serial meters, MQTT sensors, cameras, simulation)."""
