<?xml version="1.0" encoding="utf-8"?>
<!-- Test data for the TAP/UWS portal: installed by scripts/dachs.sh as
     /var/gavo/inputs/portaltest/q.rd and imported with
     `dachs imp portaltest/q`.  Every value is computed from the row id,
     so tests can assert exact results. -->
<resource schema="portaltest">
	<meta name="title">Portal test data</meta>
	<meta name="description">A tiny synthetic data set for testing TAP/UWS clients against a local
DaCHS. All values are computed from the row id, so tests can assert
exact results.</meta>
	<meta name="creationDate">2026-01-01T00:00:00Z</meta>
	<meta name="subject">Virtual observatory</meta>
	<meta name="creator">Portal test suite</meta>

	<table id="objects" onDisk="True" adql="True" primary="id">
		<meta name="description">500 synthetic objects; id runs 1..500, ra=(id-1)*0.72, dec=((id*37) %
161)-80, mag=10+(id % 50)/10, name='obj-NNNN', note is NULL unless id
is a multiple of 100.</meta>
		<column name="id" type="integer" required="True"
			ucd="meta.id;meta.main" description="Object id (1..500)"/>
		<column name="name" type="text"
			ucd="meta.id" description="Object name, obj-NNNN"/>
		<column name="ra" type="double precision" unit="deg"
			ucd="pos.eq.ra;meta.main" description="Right ascension"/>
		<column name="dec" type="double precision" unit="deg"
			ucd="pos.eq.dec;meta.main" description="Declination"/>
		<column name="mag" type="real" unit="mag"
			ucd="phot.mag" description="Magnitude"/>
		<column name="note" type="text"
			ucd="meta.note" description="Free-text note; NULL for most rows"/>
	</table>

	<!-- pg_sleep(1) sits in a filter above the LIMIT 100 sub-select, so
	     PostgreSQL evaluates it once for every row handed upwards: TOP n
	     takes about n seconds. -->
	<table id="slow" onDisk="True" adql="True">
		<meta name="description">A view over the first 100 rows of objects that sleeps one second per
row it delivers (pg_sleep). Use SELECT TOP n * FROM portaltest.slow
for a query that runs about n seconds.</meta>
		<column original="objects.id"/>
		<column original="objects.name"/>
		<viewStatement>
			CREATE VIEW \curtable AS (
				SELECT id, name FROM (
					SELECT id, name FROM \schema.objects ORDER BY id LIMIT 100
				) AS first100
				WHERE pg_sleep(1) IS NOT NULL)
		</viewStatement>
	</table>

	<!-- ObsCore-shaped rows (ObsCore 1.1 §4.7): the files behind them, and
	     DataLink documents for some.  The portal shows the URLs as links and
	     writes a download script; it never fetches them. -->
	<table id="files" onDisk="True" adql="True" primary="obs_id">
		<meta name="description">20 ObsCore-shaped rows; obs_id is file-NN (NN 1..20),
access_url http://files.example.org/data/file-NN.fits, access_format
application/fits, but every fifth row is a DataLink document
(http://files.example.org/dl?ID=ivo://portaltest/file-NN), row 7 has an
ftp URL and row 13 none; access_estsize is NN*100 kB; s_ra=NN*15,
s_dec=NN*4-42.</meta>
		<column name="obs_id" type="text" required="True"
			ucd="meta.id" description="Observation id, file-NN"/>
		<column name="access_url" type="text"
			ucd="meta.ref.url" description="Where the file (or its DataLink document) is"/>
		<column name="access_format" type="text"
			ucd="meta.code.mime" description="Its media type"/>
		<column name="access_estsize" type="bigint" unit="kbyte"
			ucd="phys.size;meta.file" description="Its estimated size"/>
		<column name="s_ra" type="double precision" unit="deg"
			ucd="pos.eq.ra" description="Right ascension of the centre"/>
		<column name="s_dec" type="double precision" unit="deg"
			ucd="pos.eq.dec" description="Declination of the centre"/>
	</table>

	<!-- Rows come from an embedded grammar, so no input file is needed.
	     Decimal steps are computed as integer/100 (or /10) so that the
	     stored doubles are the ones closest to the decimal values
	     (70.56, not 70.55999999999999). -->
	<data id="import">
		<sources item="generated"/>
		<embeddedGrammar>
			<iterator>
				<code>
					for i in range(1, 501):
						yield {
							"id": i,
							"name": "obj-%04d" % i,
							"ra": (i - 1) * 72 / 100,
							"dec": float((i * 37) % 161 - 80),
							"mag": (100 + i % 50) / 10,
							"note": "every hundredth" if i % 100 == 0 else None,
						}
				</code>
			</iterator>
		</embeddedGrammar>
		<make table="objects"/>
		<!-- the view depends on objects; DaCHS drops it with the table -->
		<recreateAfter>makeSlow</recreateAfter>
	</data>

	<data id="importFiles">
		<sources item="generated"/>
		<embeddedGrammar>
			<iterator>
				<code>
					for i in range(1, 21):
						datalink = i % 5 == 0
						if i == 7:
							url = "ftp://files.example.org/data/file-%02d.fits" % i
						elif i == 13:
							url = None
						elif datalink:
							url = "http://files.example.org/dl?ID=ivo://portaltest/file-%02d" % i
						else:
							url = "http://files.example.org/data/file-%02d.fits" % i
						yield {
							"obs_id": "file-%02d" % i,
							"access_url": url,
							"access_format": "application/x-votable+xml;content=datalink"
								if datalink else "application/fits",
							"access_estsize": i * 100,
							"s_ra": i * 15.0,
							"s_dec": i * 4.0 - 42,
						}
				</code>
			</iterator>
		</embeddedGrammar>
		<make table="files"/>
	</data>

	<data id="makeSlow" auto="False">
		<make table="slow"/>
	</data>
</resource>
