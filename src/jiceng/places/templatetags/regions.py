"""`{{ code|region_name }}`: a region's name where a page would otherwise show its code
(城南社区, not 370829001001), from the cached code → name map of places.region_names."""

from django import template

from jiceng.places import region_names

register = template.Library()
register.filter("region_name", region_names.region_name)
