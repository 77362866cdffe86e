"""Tables shipped with vpostcode as package data: the abbreviation table of typed addresses, measured confidences."""
