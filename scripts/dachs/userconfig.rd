<?xml version="1.0" encoding="utf-8"?>
<!-- The TAP examples of the portal's test DaCHS: installed by scripts/dachs.sh
     as /var/gavo/etc/userconfig.rd.  DaCHS's TAP service (//tap#run) takes its
     examples from the _example meta items of the tapexamples STREAM here and
     serves them at /tap/examples (DALI 1.1 §2.3); every other userconfig item
     still comes from DaCHS's own //userconfig.  The text is reStructuredText:
     tapquery holds the query, :taptable: names a table. -->
<resource schema="__system">
	<STREAM id="tapexamples">
		<meta name="_example" title="The brightest objects">
			The ten brightest objects of :taptable:`portaltest.objects` with a
			magnitude below 10.5, brightest first (a smaller magnitude is brighter).

			.. tapquery::

				SELECT TOP 10 id, name, ra, dec, mag
				FROM portaltest.objects
				WHERE mag &lt; 10.5
				ORDER BY mag, id
		</meta>

		<meta name="_example" title="Objects within 10 degrees of a position">
			A cone search in ADQL: the objects of :taptable:`portaltest.objects`
			within 10 degrees of RA 90, Dec 0.

			.. tapquery::

				SELECT id, name, ra, dec
				FROM portaltest.objects
				WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 90, 0, 10))
		</meta>

		<meta name="_example" title="How many objects per magnitude">
			Objects counted in bins one magnitude wide.

			.. tapquery::

				SELECT FLOOR(mag) AS mag_floor, COUNT(*) AS n
				FROM portaltest.objects
				GROUP BY FLOOR(mag)
				ORDER BY mag_floor
		</meta>

		<meta name="_example" title="FITS files and their sizes">
			The rows of the ObsCore-shaped :taptable:`portaltest.files` that point
			to a FITS file, with its URL and estimated size in kB.

			.. tapquery::

				SELECT obs_id, access_url, access_format, access_estsize
				FROM portaltest.files
				WHERE access_format = 'application/fits'
		</meta>
	</STREAM>
</resource>
