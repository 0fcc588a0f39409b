@acceptance @fleet @clock:virtual
Feature: Fleets through the CMG in model time
  Thousands of internet clients install the upgrade in waves; the CMG's VMs carry a documented number of them at
  once, storage serves one file at most 500 times a second, and the CMG can stop itself when its outbound data
  passes its threshold. The fleet runs on the virtual clock: hours of model time take seconds.

  Background:
    Given the site runs Configuration Manager version 2107
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100010 references these packages:
      | package  | name                     | type               | size   |
      | PS100011 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100012 | Surface drivers          | Driver package     | 600 MB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100011 | 40 minutes |
      | Apply drivers            | Run Command Line         | PS100012 | 5 minutes  |
    And the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"

  @behaviour:B-57 @behaviour:B-58
  Scenario: Two Standard VMs carry 10,000 clients in waves of 2,000 without a wait for the CMG
    Given 10,000 internet clients, in waves of 2,000 every 30 minutes
    And the CMG has 2 VMs
    When the fleet installs the deployment
    Then every client of the fleet starts the upgrade step
    And no client of the fleet waits more than 2 seconds for the CMG
    And 95 % of the fleet's clients start the upgrade step within 10 seconds
    And storage starts the package's file for at most 500 of the fleet's clients a second

  @behaviour:B-57
  Scenario: One Lab VM makes a wave wait for the CMG, but refuses no client
    Given 200 internet clients, in waves of 100 every 10 minutes
    And 20 % of the fleet's clients authenticate with a site-issued token
    And the CMG has 1 VM of size Lab (B2s)
    When the fleet installs the deployment
    Then every client of the fleet starts the upgrade step
    And some clients of the fleet wait for a place at the CMG
    And 95 % of the fleet's clients start the upgrade step within 1 minute

  @behaviour:B-59
  Scenario: The CMG stops itself when its outbound data passes the critical threshold
    Given 1,000 internet clients, in waves of 200 every 30 minutes
    And the CMG stops itself when its outbound data passes the critical threshold of 1 TB
    When the fleet installs the deployment
    Then the CMG stops itself at a six-minute check once its outbound data passes 90 % of the threshold, and the clients after it fail with 0x801901F7

  @behaviour:B-04
  Scenario: On demand moves less data through the CMG than downloading all content first
    Given 2,000 internet clients, in waves of 500 every 30 minutes
    When the fleet installs the deployment once on demand and once downloading all content first
    Then on demand moves at least 15 % less data than downloading all content first

  Scenario: The CMG's downloads share its outbound rate, so a wave takes longer
    Given 200 internet clients, in waves of 100 every 30 minutes
    And the CMG's content goes out at most 10 Gbit/s in all
    When the fleet installs the deployment
    Then every client of the fleet starts the upgrade step
    And the fleet's content never went out faster than 10 Gbit/s in all
    And 95 % of the fleet's clients start the upgrade step within 5 minutes

  Scenario: A mixed fleet: intranet clients take their content from the distribution point, never through the CMG
    Given the packages are distributed to the CMG and the on-premises distribution point
    And 1,000 clients, in waves of 250 every 30 minutes
    And 30 % of the fleet's clients are on the intranet
    And 20 % of the fleet's clients authenticate with a site-issued token
    When the fleet installs the deployment
    Then every client of the fleet starts the upgrade step
    And no intranet client of the fleet waits for the CMG, and every internet client does
