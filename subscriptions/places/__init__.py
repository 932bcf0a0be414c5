"""Where things are: postcodes (OS Code-Point Open, offline), geocoding through geopy, a council's LLPG addresses."""
