@acceptance @fleet @clock:virtual
Feature: The documented performance test: one 100-MB file to 50,000 clients in 24 hours
  Microsoft's performance test of a single cloud-based content source delivered a single 100-MB file to 50,000
  clients in 24 hours. One CMG with one Standard VM reproduces it here, in model time.

  Background:
    Given the site runs Configuration Manager version 2107
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100020 references these packages:
      | package  | name                    | type               | size   |
      | PS100021 | Feature update (100 MB) | OS upgrade package | 100 MB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100021 | 40 minutes |
    And the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"

  @behaviour:B-60 @behaviour:B-58
  Scenario: One CMG with one Standard VM delivers a 100-MB file to 50,000 clients within 24 hours
    Given 50,000 internet clients, in waves of 2,500 every 72 minutes
    And each wave's clients start over 1 hour
    And the CMG has 1 VM
    When the fleet installs the deployment
    Then every client of the fleet starts the upgrade step within 24 hours of the first wave
    And storage starts the package's file for at most 500 of the fleet's clients a second
